#Requires AutoHotkey v2.0
; Bridge.ahk - the script side of the bridge line protocol (docs/script-protocol.md).
;
; `bridge run script.ahk --key cad` starts this script with pipes for stdin/stdout/stderr.
; The script prints lines (@pub, @reply, @error, @ready) and reads one command per line
; from stdin. Include it and register handlers; nothing runs until the first Bridge call:
;
;   #Include lib\Bridge.ahk
;   Bridge.On("ping", (payload, cmd) => "pong")
;   Bridge.Ready()
;
; Public API (all static):
;   Bridge.On(name, callback)        handle command `name`; callback(payload, cmd) gets the
;                                    parsed JSON payload and cmd := {name, id, line}. It must
;                                    accept both parameters (write `(payload, *)` when cmd is
;                                    not needed). For a request, its return value is sent as
;                                    `@reply <id> <json>` (no return value replies ""), and a
;                                    thrown error as `@error <id> <message>`.
;   Bridge.Publish(topic, payload?)  `@pub <topic> <json>`: relative to scripts.<key>; a leading
;                                    "/" makes the topic absolute. No payload publishes null.
;   Bridge.Ready()                   `@ready`: tells the bridge the script is initialised.
;   Bridge.Start()                   start reading stdin (On and Ready call it for you).
;   Bridge.Send(line), Bridge.Log(text)   raw line to stdout / stderr.
;   Bridge.True, .False, .Null       JSON literals (AutoHotkey's true is just 1).
;   Bridge.ExitOnError := false      see "Runtime errors" below.
;   Bridge.PollMs := 50              stdin polling period, set before the first call.
;
; Standard streams. Every line is written with one FileAppend to "*" (stdout) or "**"
; (stderr) with "UTF-8", which writes no BOM on a pipe, so no reader sees half a line.
; Reading stdin would block the script's only thread (no hotkey could run), so a timer
; peeks the pipe (PeekNamedPipe) and reads exactly the available bytes (ReadFile), splits
; them on byte 0x0A and decodes each complete line with StrGet(.., "UTF-8"). A failed peek
; means the pipe is broken, i.e. the bridge is gone: the script exits. When stdin is not a
; pipe (the script was started by hand), commands are simply not read.
;
; Commands arrive as `<name> <id> <json>`; <id> is "-" for a plain message. The JSON is pure
; ASCII (non-ASCII and control characters escaped). Only the bridge's own stop line, exactly
; `exit - null`, runs ExitApp: any other `exit ...` line comes from a broker client and is an
; ordinary command (a handler registered as "exit" gets it), since a client that could end the
; script would make the bridge report a clean stop. A handler runs in the polling timer's
; thread: while it works, other commands wait (hotkeys still run).
;
; Runtime errors. Without help AutoHotkey shows a modal dialog for an unhandled error even
; with /ErrorStdOut, and the script hangs on it. Bridge installs an OnError callback that
; writes `@runtime-error <json>` ({message, what, file, line, extra, mode}) to stderr and
; returns 1: per the OnError docs, 1 suppresses the dialog (and any later OnError callbacks)
; and the current thread exits (mode "Return" would continue only on -1, which we do not
; return: the code after a failed call would run on bad data). The script itself keeps
; running, so its other hotkeys and commands still work, as they would after the user
; dismissed the dialog. A critical error (mode "ExitApp") still ends the program, and then
; the exit code is 0: the bridge treats exit 0 after a @runtime-error line as a crash.
; Set Bridge.ExitOnError := true to end the script with ExitApp(3) after reporting instead.
; Errors thrown by a command handler are caught: for a request they become `@error`, for a
; plain message they are reported as `@runtime-error` the same way.
;
; OnExit publishes `@pub exiting {"code":<exit code>,"reason":"<reason>"}` (best effort:
; TerminateProcess, which is what a forced kill is on Windows, runs no OnExit).
;
; Load-time warnings (VarUnset, Unreachable) are shown in a modal dialog before the script
; runs, and /ErrorStdOut does not redirect them: under the bridge, with nobody to click it,
; the script would hang without a word. So this file sets `#Warn All, StdOut`: each warning
; becomes stdout lines (`<file> (<line>) : ==> Warning: ...`, then `     Specifically: ...`),
; which the bridge publishes on scripts.<key>.output. LocalSameAsGlobal is set Off again
; because "All" would switch on that warning, which AutoHotkey leaves off by default. The last
; #Warn for a warning type wins, so a script can choose otherwise after its #Include.
;
; Golden examples (checked by test/unit/ahk-golden.test.ts): what the library prints
; for the call above each line, and command lines it accepts.
;   Bridge.Ready()
; golden-out: @ready
;   Bridge.Publish("hotkey.pressed", Map("key", "F1"))
; golden-out: @pub hotkey.pressed {"key":"F1"}
;   Bridge.Publish("/jobs.requested", Map("job", "A-100", "source", "cad"))
; golden-out: @pub /jobs.requested {"job":"A-100","source":"cad"}
;   Bridge.Publish("selection.changed", ["P1", "P2"])
; golden-out: @pub selection.changed ["P1","P2"]
;   Bridge.Publish("status", "idle")
; golden-out: @pub status "idle"
;   Bridge.Publish("counter", 42)
; golden-out: @pub counter 42
;   Bridge.Publish("flags", Map("enabled", Bridge.True, "missing", Bridge.Null, "ratio", 0.5))
; golden-out: @pub flags {"enabled":true,"missing":null,"ratio":0.5}
;   Bridge.Publish("started")
; golden-out: @pub started
;   Bridge.Publish("note", "line 1`nline 2 `"quoted`" C:\temp")
; golden-out: @pub note "line 1\nline 2 \"quoted\" C:\\temp"
;   Bridge.Publish("greeting", "Müller ✓")
; golden-out: @pub greeting "Müller ✓"
;   ping 7 null                       with Bridge.On("ping", (*) => "pong")
; golden-out: @reply 7 "pong"
;   job.load 8 {"job":"A-100"}        handler returns Map("job", "A-100", "loaded", Bridge.True)
; golden-out: @reply 8 {"job":"A-100","loaded":true}
;   beep 14 null                      handler returns nothing
; golden-out: @reply 14 ""
;   nope 9 null                       no handler registered
; golden-out: @error 9 no handler for command "nope"
;   exit 16 {"now":true}              not the stop line, and no handler registered as "exit"
; golden-out: @error 16 no handler for command "exit"
;   job.load 10 {}                    handler throws ValueError('job.load needs a "job" field')
; golden-out: @error 10 job.load needs a "job" field
;   ExitApp after `exit - null`
; golden-out: @pub exiting {"code":0,"reason":"Exit"}
;   stderr, after Integer("abc") fails in a hotkey. A built-in function's error can be
;   continued, so OnError gets mode "Return" (mode "Exit" is for `throw`), and AutoHotkey
;   names the function by the class's Call method: Integer.Call.
; golden-err: @runtime-error {"extra":"abc","file":"C:\\cad\\cad_hotkeys.ahk","line":42,"message":"Parameter #1 of Integer.Call requires a Number, but received a String.","mode":"Return","what":"Integer.Call"}
;
; golden-in: exit - null
; golden-in: ping 7 null
; golden-in: job.load 8 {"job":"A-100"}
; golden-in: job.load - {"job":"A-101","note":"line 1\nline 2"}
; golden-in: rename 12 {"name":"M\u00fcller \u2713"}
; golden-in: note 13 {"text":"\ud83d\ude00 \"quoted\" C:\\temp"}
; golden-in: select - ["P1","P2"]
; golden-in: zoom - 1.5
; golden-in: beep - "\u0007"
; golden-in: flag 15 {"on":true,"off":false,"none":null}

#Warn All, StdOut
#Warn LocalSameAsGlobal, Off

#Include BridgeJson.ahk   ; relative to this file

class Bridge {
    static Handlers := Map()
    static PollMs := 50
    static ExitOnError := false
    static True => BridgeJson.True
    static False => BridgeJson.False
    static Null => BridgeJson.Null
    static _started := false
    static _hIn := 0
    static _buf := Buffer(4096)
    static _len := 0

    static On(name, callback) {
        this.Handlers[name] := callback
        this.Start()
    }

    static Publish(topic, payload?) {
        if topic = "" || topic ~= "\s"
            throw ValueError("Bridge.Publish: the topic must be non-empty, without spaces", -1, topic)
        this.Send("@pub " topic (IsSet(payload) ? " " BridgeJson.Dump(payload) : ""))
    }

    static Ready() {
        this.Start()
        this.Send("@ready")
    }

    ; One line, one write. A failure means stdout is gone (bridge ended, or no console).
    static Send(line) {
        try FileAppend(line "`n", "*", "UTF-8")
    }

    static Log(text) {
        try FileAppend(text "`n", "**", "UTF-8")
    }

    static Start() {
        if this._started
            return
        this._started := true
        OnError(ObjBindMethod(this, "_OnError"))
        OnExit(ObjBindMethod(this, "_OnExit"))
        h := DllCall("GetStdHandle", "Int", -10, "Ptr")   ; STD_INPUT_HANDLE
        if h && h != -1 && DllCall("GetFileType", "Ptr", h, "UInt") = 3 {   ; FILE_TYPE_PIPE
            this._hIn := h
            SetTimer(ObjBindMethod(this, "_Poll"), this.PollMs)   ; also keeps the script running
        }
    }

    static _Poll() {
        avail := 0
        if !DllCall("PeekNamedPipe", "Ptr", this._hIn, "Ptr", 0, "UInt", 0, "Ptr", 0, "UInt*", &avail, "Ptr", 0)
            ExitApp(0)                                  ; broken pipe: the bridge is gone
        if !avail
            return
        avail := Min(avail, 0x10000)
        if this._buf.Size < this._len + avail
            this._buf.Size := this._len + avail         ; growing a Buffer keeps its bytes
        got := 0
        if !DllCall("ReadFile", "Ptr", this._hIn, "Ptr", this._buf.Ptr + this._len, "UInt", avail, "UInt*", &got, "Ptr", 0)
            ExitApp(0)
        ; Cut complete lines out of the bytes first, so a handler never sees a half-updated buffer.
        lines := [], start := 0, i := this._len, this._len += got
        while i < this._len {
            if NumGet(this._buf, i, "UChar") = 10 {
                n := i - start
                if n && NumGet(this._buf, start + n - 1, "UChar") = 13
                    n -= 1
                lines.Push(n ? StrGet(this._buf.Ptr + start, n, "UTF-8") : "")
                start := i + 1
            }
            i += 1
        }
        if start {
            this._len -= start
            DllCall("RtlMoveMemory", "Ptr", this._buf.Ptr, "Ptr", this._buf.Ptr + start, "UPtr", this._len)
        }
        for line in lines
            this._Dispatch(line)
    }

    static _Dispatch(line) {
        if line == "exit - null"                       ; the bridge's stop line, and only that
            ExitApp(0)
        parts := StrSplit(line, " ", , 3)              ; <name> <id> <json>
        name := parts[1], id := parts.Length >= 2 ? parts[2] : "-"
        if name == ""
            return
        try {
            payload := parts.Length >= 3 ? BridgeJson.Load(parts[3]) : ""
            if !this.Handlers.Has(name)
                throw ValueError('no handler for command "' name '"')
            handler := this.Handlers[name]
            result := handler.Call(payload, {name: name, id: id, line: line})
            if id != "-"
                this.Send("@reply " id " " BridgeJson.Dump(result))
        } catch Any as err {
            if id != "-"
                this.Send("@error " id " " RegExReplace(this._Message(err), "[\r\n]+", " "))
            else if this.Handlers.Has(name)
                this.Log(this._ErrorLine(err, "Command"))
            else
                this.Log('bridge: no handler for command "' name '"')
        }
    }

    static _OnError(err, mode) {
        this.Log(this._ErrorLine(err, mode))
        if this.ExitOnError
            ExitApp(3)
        return 1    ; no dialog; the thread that failed ends, the script keeps running
    }

    static _OnExit(reason, code) {
        this.Publish("exiting", Map("code", code, "reason", reason))
        return 0    ; 0: let the script exit
    }

    static _Message(err) => err is Error ? err.Message : IsObject(err) ? Type(err) : String(err)

    static _ErrorLine(err, mode) {
        info := Map("message", this._Message(err), "mode", mode, "what", "", "file", "", "line", 0, "extra", "")
        if err is Error
            for key in ["what", "file", "line", "extra"]
                try info[key] := err.%key%
        return "@runtime-error " BridgeJson.Dump(info)
    }
}
