#Requires AutoHotkey v2.0
; BrokerClient.ahk - a direct TCP client for the broker (wire contract: docs/protocol.md),
; for scripts that talk to the broker themselves instead of through `bridge run`.
;
; It replaces the seed's client built on the VB6 Winsock ActiveX control, which is 32-bit
; only and absent from stock Windows 10/11 (AutoHotkey64.exe cannot load it). This one calls
; ws2_32 through DllCall and reads with WSAAsyncSelect + OnMessage, so nothing polls.
;
;   #Include lib\BrokerClient.ahk
;   broker := BrokerClient()                 ; 127.0.0.1:15234
;   broker.Connect("cad_tools")              ; throws OSError when the broker is not there
;   broker.Subscribe("jobs.*", OnJob)
;   broker.Publish("cad.status", Map("state", "idle"))
;   OnJob(payload, msg) => ToolTip(msg["topic"] ": " BridgeJson.Dump(payload))
;
; Public API:
;   BrokerClient(host := "127.0.0.1", port := 15234)
;       host must be an IPv4 address: "localhost" would try IPv6 ::1 first and can stall.
;   .Connect(clientId, clientType := "ahk", token := "")   TCP connect, then the `connect`
;       request; its result lands in .Session. Also makes the script persistent. token: the
;       broker's shared token, or this client's own secret when the broker lists it under
;       "clients"; a refused token closes the connection (.LastError says why).
;   .Publish(topic, payload?, qos := 0)        a `publish` notification (fire and forget).
;   .Subscribe(patterns, callback)             patterns: a string or an Array. For each
;       delivery whose topic matches, callback(payload, msg) runs; msg is the delivery's
;       params Map (topic, sender, message_id, qos, timestamp...). When the delivery is a
;       request (msg has reply_to), the first non-empty value a callback returns is sent
;       back with `reply`. QoS 1 deliveries are acked after the callbacks ran.
;   .Request(topic, payload, callback, timeout := 5)   callback(result, error): error is ""
;       or the JSON-RPC error Map {code, message}; the broker enforces the timeout.
;   .Rpc(method, params, callback?)            any JSON-RPC method: a request when a
;       callback(result, error) is given, otherwise a notification.
;   .Close()                                   `disconnect`, then close the socket.
;   .Connected, .Session, .LastError, .OnClose := callback(client) when the broker closes.
;   BrokerClient.Matches(pattern, topic)       the broker's pattern rules (* + #).
;
; Framing: 4-byte BIG-endian length, then that many bytes of UTF-8 JSON. The length is the
; UTF-8 byte count, StrPut(text, "UTF-8") - 1, not the character count; NumPut("UInt")
; would write it little-endian, so the header is written byte by byte. Received bytes are
; accumulated until whole frames are there (one read may hold many frames, or part of one).
;
; Golden frames (checked by test/unit/ahk-golden.test.ts): the exact bytes, in hex, that
; .Connect("cad"), .Publish("cad.status", Map("name", "Müller ✓")) and .Subscribe("jobs.*", fn)
; send on a new client.
; golden-frame: 0000006c7b226a736f6e727063223a22322e30222c226d6574686f64223a22636f6e6e656374222c22706172616d73223a7b22636c69656e745f6964223a22636164222c22636c69656e745f74797065223a2261686b222c2276657273696f6e223a22322e30227d2c226964223a317d {"jsonrpc":"2.0","method":"connect","params":{"client_id":"cad","client_type":"ahk","version":"2.0"},"id":1}
; golden-frame: 0000006d7b226a736f6e727063223a22322e30222c226d6574686f64223a227075626c697368222c22706172616d73223a7b227061796c6f6164223a7b226e616d65223a224dc3bc6c6c657220e29c93227d2c22716f73223a302c22746f706963223a226361642e737461747573227d7d {"jsonrpc":"2.0","method":"publish","params":{"payload":{"name":"Müller ✓"},"qos":0,"topic":"cad.status"}}
; golden-frame: 000000877b226a736f6e727063223a22322e30222c226d6574686f64223a22636f6e6e656374222c22706172616d73223a7b22636c69656e745f6964223a226361645f6c61746865222c22636c69656e745f74797065223a2261686b222c22746f6b656e223a226361642d736563726574222c2276657273696f6e223a22322e30227d2c226964223a317d {"jsonrpc":"2.0","method":"connect","params":{"client_id":"cad_lathe","client_type":"ahk","token":"cad-secret","version":"2.0"},"id":1}
; golden-frame: 0000004e7b226a736f6e727063223a22322e30222c226d6574686f64223a22737562736372696265222c22706172616d73223a7b227061747465726e73223a5b226a6f62732e2a225d7d2c226964223a327d {"jsonrpc":"2.0","method":"subscribe","params":{"patterns":["jobs.*"]},"id":2}

#Include BridgeJson.ahk   ; relative to this file

class BrokerClient {
    static WM_SOCKET := 0x9B1D          ; a private (WM_APP range) message for Winsock events
    static MaxFrame := 16 * 1024 * 1024
    static Clients := Map()             ; socket handle -> client
    static _wsa := false

    __New(host := "127.0.0.1", port := 15234) {
        this.Host := host, this.Port := port
        this.OnClose := "", this.Session := "", this.LastError := ""
        this._sock := 0, this._nextId := 0, this._pending := Map(), this._subs := []
        this._buf := Buffer(0x10000), this._len := 0, this._closing := false
        this._drain := ObjBindMethod(this, "_Drain")   ; one object, so SetTimer re-arms one timer
    }

    Connected => this._sock != 0

    Connect(clientId, clientType := "ahk", token := "") {
        if this._sock
            throw Error("BrokerClient: already connected", -1)
        BrokerClient._Startup()
        ip := DllCall("ws2_32\inet_addr", "AStr", this.Host, "UInt")
        if ip = 0xFFFFFFFF
            throw ValueError("BrokerClient: the host must be an IPv4 address such as 127.0.0.1", -1, this.Host)
        addr := Buffer(16, 0)                   ; sockaddr_in: family, port (network order), address
        NumPut("UShort", 2, "UShort", DllCall("ws2_32\htons", "UShort", this.Port, "UShort"), "UInt", ip, addr)
        s := DllCall("ws2_32\socket", "Int", 2, "Int", 1, "Int", 6, "Ptr")   ; AF_INET, SOCK_STREAM, TCP
        if s = -1
            throw OSError(DllCall("ws2_32\WSAGetLastError"), -1, "socket")
        ; A blocking connect: to 127.0.0.1 it succeeds or is refused within a couple of seconds.
        if DllCall("ws2_32\connect", "Ptr", s, "Ptr", addr, "Int", 16, "Int") != 0 {
            err := DllCall("ws2_32\WSAGetLastError")
            DllCall("ws2_32\closesocket", "Ptr", s)
            throw OSError(err, -1, "connect " this.Host ":" this.Port)
        }
        this._sock := s, this._len := 0, this._closing := false
        BrokerClient.Clients[s] := this
        ; From now on Winsock posts FD_READ (1) / FD_CLOSE (32) to the script's hidden window,
        ; and the socket is non-blocking.
        if DllCall("ws2_32\WSAAsyncSelect", "Ptr", s, "Ptr", A_ScriptHwnd, "UInt", BrokerClient.WM_SOCKET, "Int", 1 | 32, "Int") != 0 {
            err := DllCall("ws2_32\WSAGetLastError")
            this._Closed(false)
            throw OSError(err, -1, "WSAAsyncSelect")
        }
        Persistent()
        params := Map("client_id", clientId, "client_type", clientType, "version", "2.0")
        if token != ""
            params["token"] := token
        this.Rpc("connect", params, ObjBindMethod(this, "_Answered", "connect"))
        return this
    }

    Publish(topic, payload?, qos := 0) {
        this.Rpc("publish", Map("payload", payload ?? BridgeJson.Null, "qos", qos, "topic", topic))
    }

    Subscribe(patterns, callback) {
        patterns := patterns is Array ? patterns : [patterns]
        this._subs.Push({patterns: patterns, callback: callback})
        this.Rpc("subscribe", Map("patterns", patterns), ObjBindMethod(this, "_Answered", "subscribe"))
    }

    Request(topic, payload, callback, timeout := 5) {
        this.Rpc("request", Map("payload", payload, "timeout", timeout, "topic", topic), callback)
    }

    Rpc(method, params, callback?) {
        if !this._sock
            throw Error("BrokerClient: not connected", -1)
        text := '{"jsonrpc":"2.0","method":' BridgeJson.Quote(method) ',"params":' BridgeJson.Dump(params)
        if IsSet(callback) {
            this._nextId += 1
            this._pending[this._nextId] := callback
            text .= ',"id":' this._nextId
        }
        this._Send(text "}")
    }

    Close() {
        if !this._sock
            return
        try this.Rpc("disconnect", Map())
        this._Closed(false)
    }

    static Matches(pattern, topic) {
        p := StrSplit(pattern, "."), t := StrSplit(topic, ".")
        for i, level in p {
            if level == "#"
                return true                     ; also matches the parent: a.# matches a
            if i > t.Length || (level != "*" && level != "+" && level !== t[i])
                return false
        }
        return p.Length = t.Length
    }

    _Send(text) {
        n := StrPut(text, "UTF-8") - 1          ; UTF-8 bytes without the terminator (not StrLen)
        frame := Buffer(4 + n + 1)              ; + 1: StrPut writes a terminating zero
        NumPut("UChar", (n >> 24) & 0xFF, "UChar", (n >> 16) & 0xFF, "UChar", (n >> 8) & 0xFF, "UChar", n & 0xFF, frame)
        StrPut(text, frame.Ptr + 4, n + 1, "UTF-8")
        sent := 0, total := 4 + n, deadline := A_TickCount + 5000
        while sent < total {
            r := DllCall("ws2_32\send", "Ptr", this._sock, "Ptr", frame.Ptr + sent, "Int", total - sent, "Int", 0, "Int")
            if r > 0 {
                sent += r
                continue
            }
            err := DllCall("ws2_32\WSAGetLastError")
            if err != 10035 || A_TickCount > deadline {   ; 10035 = WSAEWOULDBLOCK: buffer full, retry
                this._Closed(true)                         ; half a frame sent: the stream is lost
                throw OSError(err, -1, "send")
            }
            Sleep(10)
        }
    }

    static _Startup() {
        if BrokerClient._wsa
            return
        wsa := Buffer(512)                      ; WSADATA (about 400 bytes)
        if err := DllCall("ws2_32\WSAStartup", "UShort", 0x0202, "Ptr", wsa, "Int")
            throw OSError(err, -1, "WSAStartup")
        OnMessage(BrokerClient.WM_SOCKET, (wParam, lParam, *) => BrokerClient._OnSocket(wParam, lParam))
        BrokerClient._wsa := true
    }

    ; Winsock event: wParam = socket, low word of lParam = FD_READ or FD_CLOSE. Only schedule
    ; the read: a one-shot timer runs _Drain outside the message handler, and re-arming it
    ; while _Drain runs makes it run once more, so no FD_READ is lost while callbacks run.
    static _OnSocket(wParam, lParam) {
        if !BrokerClient.Clients.Has(wParam)
            return
        client := BrokerClient.Clients[wParam]
        if (lParam & 0xFFFF) = 32
            client._closing := true
        SetTimer(client._drain, -1)
    }

    _Drain() {
        if !this._sock
            return
        closed := this._closing
        loop {                                  ; read until Winsock has nothing more
            if this._buf.Size < this._len + 0x10000
                this._buf.Size := this._len + 0x10000
            r := DllCall("ws2_32\recv", "Ptr", this._sock, "Ptr", this._buf.Ptr + this._len, "Int", 0x10000, "Int", 0, "Int")
            if r > 0 {
                this._len += r
                continue
            }
            if r = 0 || DllCall("ws2_32\WSAGetLastError") != 10035
                closed := true                  ; 0: closed by the broker; other errors: reset
            break
        }
        ; Cut out every complete frame before any callback runs.
        b := this._buf, texts := [], off := 0
        while this._len - off >= 4 {
            n := (NumGet(b, off, "UChar") << 24) | (NumGet(b, off + 1, "UChar") << 16) | (NumGet(b, off + 2, "UChar") << 8) | NumGet(b, off + 3, "UChar")
            if n > BrokerClient.MaxFrame {      ; cannot resync after a bad header
                closed := true, off := this._len
                break
            }
            if this._len - off - 4 < n
                break                           ; partial frame: wait for more bytes
            texts.Push(n ? StrGet(b.Ptr + off + 4, n, "UTF-8") : "")
            off += 4 + n
        }
        if off {
            this._len -= off
            DllCall("RtlMoveMemory", "Ptr", b.Ptr, "Ptr", b.Ptr + off, "UPtr", this._len)
        }
        for text in texts
            this._OnFrame(text)
        if closed
            this._Closed(true)
    }

    _OnFrame(text) {
        try {
            msg := BridgeJson.Load(text)
            if !(msg is Map)
                return
            if msg.Has("method") {
                if msg["method"] == "message" && msg.Has("params")
                    this._Deliver(msg["params"])
            } else if msg.Has("id") && this._pending.Has(msg["id"]) {
                callback := this._pending.Delete(msg["id"])
                callback.Call(msg.Get("result", ""), msg.Get("error", ""))
            } else if msg.Has("error")
                this._Report(msg["error"])
        } catch Any as err
            this._Report(err)
    }

    _Deliver(params) {
        topic := params.Get("topic", ""), payload := params.Get("payload", "")
        for sub in this._subs {
            matched := false
            for pattern in sub.patterns
                matched := matched || BrokerClient.Matches(pattern, topic)
            if !matched
                continue
            try {
                r := sub.callback.Call(payload, params)
                if !IsSet(answer) && (IsObject(r) || r != "")
                    answer := r
            } catch Any as err
                this._Report(err)
        }
        if IsSet(answer) && params.Has("reply_to")
            this.Rpc("reply", Map("reply_to", params["reply_to"], "result", answer))
        if params.Get("qos", 0) = 1 && params.Has("message_id")
            this.Rpc("ack", Map("message_id", params["message_id"]))
    }

    _Answered(what, result, error) {
        if IsObject(error)
            this._Report(what " failed: " BridgeJson.Dump(error))
        else if what = "connect"
            this.Session := result
    }

    _Report(problem) {
        this.LastError := problem is Error ? problem.Message : IsObject(problem) ? BridgeJson.Dump(problem) : String(problem)
        try FileAppend("BrokerClient: " this.LastError "`n", "**", "UTF-8")
    }

    _Closed(notify) {
        s := this._sock
        if !s
            return
        this._sock := 0, this._len := 0, this._pending := Map()
        try SetTimer(this._drain, 0)
        BrokerClient.Clients.Delete(s)
        DllCall("ws2_32\closesocket", "Ptr", s)
        if notify && this.OnClose
            try this.OnClose.Call(this)
    }
}
