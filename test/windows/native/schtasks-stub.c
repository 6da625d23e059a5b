/*
 * schtasks-stub.exe: stands in for schtasks.exe on the Wine test lane (BRIDGE_SCHTASKS
 * names it), so the tests see exactly what `bridge install-startup` would register.
 *
 * Appends one line per call to %SCHTASKS_STUB_LOG%: its arguments, UTF-8, separated by
 * tabs. With "/XML FILE" it also copies FILE, byte for byte, to %SCHTASKS_STUB_LOG%.xml.
 * Prints %SCHTASKS_STUB_OUTPUT% and exits with %SCHTASKS_STUB_EXIT% (default 0), so a
 * test can play a refusal ("ERROR: Access is denied.", exit 1).
 */
#include <windows.h>
#include <stdio.h>
#include <stdlib.h>
#include <wchar.h>

static void writeUtf8(HANDLE f, const wchar_t *text) {
    char buf[8192];
    int n = WideCharToMultiByte(CP_UTF8, 0, text, -1, buf, sizeof buf, NULL, NULL);
    DWORD written;
    if (n > 1) WriteFile(f, buf, (DWORD)(n - 1), &written, NULL);
}

int wmain(int argc, wchar_t **argv) {
    const wchar_t *log = _wgetenv(L"SCHTASKS_STUB_LOG");
    if (log && log[0]) {
        HANDLE f = CreateFileW(log, FILE_APPEND_DATA, FILE_SHARE_READ, NULL, OPEN_ALWAYS, FILE_ATTRIBUTE_NORMAL, NULL);
        if (f != INVALID_HANDLE_VALUE) {
            for (int i = 1; i < argc; i++) {
                if (i > 1) writeUtf8(f, L"\t");
                writeUtf8(f, argv[i]);
            }
            writeUtf8(f, L"\n");
            CloseHandle(f);
        }
        for (int i = 1; i + 1 < argc; i++) {
            if (_wcsicmp(argv[i], L"/XML") == 0) {
                wchar_t copy[MAX_PATH * 2];
                swprintf(copy, sizeof copy / sizeof copy[0], L"%ls.xml", log);
                CopyFileW(argv[i + 1], copy, FALSE);
            }
        }
    }
    /* Narrow bytes, as schtasks writes to a pipe (not UTF-16). */
    const wchar_t *out = _wgetenv(L"SCHTASKS_STUB_OUTPUT");
    if (out && out[0]) {
        writeUtf8(GetStdHandle(STD_OUTPUT_HANDLE), out);
        writeUtf8(GetStdHandle(STD_OUTPUT_HANDLE), L"\r\n");
    }
    const wchar_t *code = _wgetenv(L"SCHTASKS_STUB_EXIT");
    return code && code[0] ? _wtoi(code) : 0;
}
