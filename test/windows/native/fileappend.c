/*
 * fileappend.exe: appends lines to a queue file exactly the way AutoHotkey's FileAppend
 * does, for the Wine test lane: every line opens the file with CreateFileW(GENERIC_WRITE,
 * share mode 0, OPEN_ALWAYS), seeks to the end, writes, and closes. While another process
 * holds a handle, the open fails with ERROR_SHARING_VIOLATION: AutoHotkey v2 throws (a
 * script's retry loop tries again), v1 sets ErrorLevel and the line is lost.
 *
 * Usage: fileappend.exe FILE COUNT PREFIX [v1|v2] [DELAY_MS]
 * Writes "PREFIX|{"seq":N}\r\n" for N = 0..COUNT-1. v2 (default) retries a sharing
 * violation every millisecond, up to 10 s per line; v1 gives up on the line. Prints one
 * JSON line: {"written":W,"lost":L,"retries":R}.
 */
#include <windows.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int wmain(int argc, wchar_t **argv) {
    if (argc < 4) {
        fwprintf(stderr, L"usage: fileappend.exe FILE COUNT PREFIX [v1|v2] [DELAY_MS]\n");
        return 2;
    }
    const wchar_t *path = argv[1];
    long count = wcstol(argv[2], NULL, 10);
    char prefix[256];
    WideCharToMultiByte(CP_UTF8, 0, argv[3], -1, prefix, sizeof prefix, NULL, NULL);
    int v1 = argc > 4 && wcscmp(argv[4], L"v1") == 0;
    long delay = argc > 5 ? wcstol(argv[5], NULL, 10) : 0;
    long written = 0, lost = 0, retries = 0;
    for (long seq = 0; seq < count; seq++) {
        char line[512];
        int n = snprintf(line, sizeof line, "%s|{\"seq\":%ld}\r\n", prefix, seq);
        DWORD start = GetTickCount();
        for (;;) {
            HANDLE h = CreateFileW(path, GENERIC_WRITE, 0, NULL, OPEN_ALWAYS, FILE_ATTRIBUTE_NORMAL, NULL);
            if (h != INVALID_HANDLE_VALUE) {
                DWORD done = 0;
                SetFilePointer(h, 0, NULL, FILE_END);
                BOOL ok = WriteFile(h, line, (DWORD)n, &done, NULL);
                CloseHandle(h);
                if (ok && done == (DWORD)n) written++;
                else lost++;
                break;
            }
            DWORD err = GetLastError();
            if (err != ERROR_SHARING_VIOLATION && err != ERROR_LOCK_VIOLATION) {
                fwprintf(stderr, L"CreateFileW failed: %lu\n", err);
                return 1;
            }
            if (v1) {
                lost++;
                break;
            }
            retries++;
            if (GetTickCount() - start > 10000) {
                lost++;
                break;
            }
            Sleep(1);
        }
        if (delay > 0) Sleep((DWORD)delay);
    }
    printf("{\"written\":%ld,\"lost\":%ld,\"retries\":%ld}\n", written, lost, retries);
    return 0;
}
