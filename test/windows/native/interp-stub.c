/*
 * interp-stub.exe: a native stand-in for AutoHotkey.exe on the Wine test lane, for the
 * bridge's Windows process handling: it starts a child of its own (like a script's Run),
 * prints the bridge's line protocol, echoes commands, and exits on "exit - null" or EOF,
 * leaving the child running (as a script that Run something would).
 *
 * Usage: interp-stub.exe [/ErrorStdOut] [/CP65001] SCRIPT [--child] [--ignore-exit] [--load-error]
 *   --child        start "interp-stub.exe --sleeper" and report its pid: "@pub child {"pid":N}"
 *   --ignore-exit  do not exit on the exit command (a hung script)
 *   --load-error   fail at load as AutoHotkey does with /ErrorStdOut: print
 *                  `SCRIPT (5) : ==> Missing "}"` on stderr and exit 2, at once
 *   --sleeper      (internal) sleep for 10 minutes
 */
#include <windows.h>
#include <stdio.h>
#include <string.h>

int wmain(int argc, wchar_t **argv) {
    int child = 0, ignoreExit = 0;
    const wchar_t *script = L"";
    for (int i = 1; i < argc; i++) {
        if (script[0] == L'\0' && argv[i][0] != L'/') script = argv[i];
        if (wcscmp(argv[i], L"--load-error") == 0) {
            fprintf(stderr, "%ls (5) : ==> Missing \"}\"\n", script);
            return 2;
        }
        if (wcscmp(argv[i], L"--sleeper") == 0) {
            Sleep(600000);
            return 0;
        }
        if (wcscmp(argv[i], L"--child") == 0) child = 1;
        if (wcscmp(argv[i], L"--ignore-exit") == 0) ignoreExit = 1;
    }
    setvbuf(stdout, NULL, _IONBF, 0);
    printf("@pub hello {\"pid\":%lu}\n", GetCurrentProcessId());
    if (child) {
        wchar_t self[MAX_PATH];
        GetModuleFileNameW(NULL, self, MAX_PATH);
        wchar_t cmd[MAX_PATH + 32];
        swprintf(cmd, MAX_PATH + 32, L"\"%ls\" --sleeper", self);
        STARTUPINFOW si = {sizeof si};
        PROCESS_INFORMATION pi;
        if (!CreateProcessW(NULL, cmd, NULL, NULL, FALSE, CREATE_NO_WINDOW, NULL, NULL, &si, &pi)) {
            fprintf(stderr, "CreateProcess failed: %lu\n", GetLastError());
            return 3;
        }
        printf("@pub child {\"pid\":%lu}\n", pi.dwProcessId);
        CloseHandle(pi.hThread);
        CloseHandle(pi.hProcess);
    }
    printf("@ready\n");
    char line[4096];
    while (fgets(line, sizeof line, stdin)) {
        if (strncmp(line, "exit ", 5) == 0) {
            if (ignoreExit) continue;
            return 0;
        }
        printf("@pub echo %s", line);
    }
    return 0;
}
