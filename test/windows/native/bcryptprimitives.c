/*
 * Wine 8 has no bcryptprimitives.dll, whose ProcessPrng the Rust standard library calls
 * for random bytes; the win32 builds of vitest's native bindings (rolldown) fail to load
 * without it. This stand-in forwards to BCryptGenRandom, which Wine implements. Only for
 * the Wine test lane: real Windows 10/11 ship the genuine DLL.
 */
#include <windows.h>
#include <bcrypt.h>

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len) {
    while (len > 0) {
        ULONG chunk = len > 0x40000000 ? 0x40000000 : (ULONG)len;
        if (BCryptGenRandom(NULL, data, chunk, BCRYPT_USE_SYSTEM_PREFERRED_RNG) != 0) return FALSE;
        data += chunk;
        len -= chunk;
    }
    return TRUE;
}
