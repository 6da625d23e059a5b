#Requires AutoHotkey v2.0
; BrokerClient.ahk - a direct TCP client for the broker (wire contract: docs/protocol.md),
; for scripts that talk to the broker themselves instead of through `bridge run`.
;
; It replaces the seed's client built on the VB6 Winsock ActiveX control, which is 32-bit
; only and absent from stock Windows 10/11 (AutoHotkey64.exe cannot load it). This one calls
; ws2_32 through DllCall and reads with WSAAsyncSelect + OnMessage.
;
;   #Include lib\BrokerClient.ahk
;   broker := BrokerClient()                 ; 127.0.0.1:15234
;   broker.Connect("cad_tools")              ; throws OSError when the broker is not there
;   broker.Subscribe("jobs.*", OnJob)
;   broker.Respond("cad.ping", (payload, msg) => "pong")
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
;       Every Connect, the first and any later one, then subscribes to every pattern that
;       Subscribe and Respond registered: the broker keeps subscriptions only while it runs,
;       so a script reconnects with Connect again (see "Reconnecting" in docs/autohotkey.md)
;       and need not subscribe again. This client does not reconnect by itself.
;   .Publish(topic, payload?, qos := 0)        a `publish` notification (fire and forget):
;       returns true when the frame went to the connection, false when there is none (never
;       connected, closed, or the send failed, which closes it and runs OnClose), instead of
;       throwing: a hotkey that publishes gets no error dialog while the broker is away.
;       Request and Rpc still throw "not connected".
;   .Subscribe(patterns, callback)             patterns: a string or an Array. For each
;       delivery whose topic matches, callback(payload, msg) runs; msg is the delivery's
;       params Map (topic, sender, message_id, qos, timestamp, and reply_to when the
;       delivery is a request). Its return value is ignored, for requests too: callbacks
;       return things by accident (the ToolTip above returns a window handle), and that
;       must not become anybody's answer. Answering is what Respond is for.
;       Subscribe and Respond register the callback for good (Close keeps it) and send
;       `subscribe` when connected; without a connection they only register, and the next
;       Connect subscribes. A pattern already registered with the same callback object (and
;       the same method, Subscribe or Respond) is not added twice, so calling them again
;       after a reconnect does not double the deliveries.
;   .Respond(patterns, callback)               answers requests: for each delivery with
;       reply_to whose topic matches, callback(payload, msg)'s return value is sent back
;       with `reply`, "" included (no return value replies ""); a thrown error is sent as
;       error {code: -32603, message}. The first matching Respond answers; later ones do not
;       see that request, and plain publishes reach none of them. Returning BridgeJson.Null
;       is no answer to the broker: the requester waits for its timeout.
;       Subscribe and Respond callbacks run in the order they were registered; QoS 1
;       deliveries are acked after they all ran.
;   .Request(topic, payload, callback, timeout := 5)   callback(result, error): error is ""
;       or the JSON-RPC error Map {code, message}; the broker enforces the timeout.
;   .Rpc(method, params, callback?)            any JSON-RPC method: a request when a
;       callback(result, error) is given, otherwise a notification.
;       When the connection closes before the answer (broker gone, send failure, Close()),
;       the callback is called once with ("", {code: -32000, message: "connection closed"}).
;       -32000 never comes from the broker: it is this client saying no answer can come.
;   .Close()                                   `disconnect`, then close the socket.
;   .Connected, .Session, .LastError, .OnClose := callback(client) when the broker closes.
;   BrokerClient.Matches(pattern, topic)       the broker's pattern rules (* + #).
;
; Framing: 4-byte BIG-endian length, then that many bytes of UTF-8 JSON. The length is the
; UTF-8 byte count, StrPut(text, "UTF-8") - 1, not the character count; NumPut("UInt")
; would write it little-endian, so the header is written byte by byte. Received bytes are
; accumulated until whole frames are there (one read may hold many frames, or part of one).
;
; Sending. send() on the non-blocking socket can refuse bytes (WSAEWOULDBLOCK) and the retry
; Sleeps, which lets timers, hotkeys and message handlers run; one of them may publish. Its
; frame must not start inside the half-sent one, or the broker loses the stream. So frames
; go through one outgoing queue: a call made while another is sending only appends, and the
; outermost call writes the queue out, in order. 5 s without a byte accepted closes the
; connection (OSError "send").
;
; Reading. Winsock posts FD_READ / FD_CLOSE to the script's hidden window, and OnMessage
; schedules a read; the read, not the message, decides: recv until WSAEWOULDBLOCK, and only
; recv returning 0 (closed by the broker) or an error (reset) ends the connection. The
; message is not trusted because after Close() and Connect() Windows often hands out the
; same socket handle again, and an FD_CLOSE the old socket queued arrives with the new one's
; number. And a message can go unmonitored: OnMessage runs nothing while a thread of
; priority above 0 runs, when its callback is still busy, or in some modal loops, and
; Winsock posts the next FD_READ only after a recv. So a 1 s timer also reads while
; connected; without it one lost message would stall reading for good.
;
; Golden frames (checked by test/unit/ahk-golden.test.ts): the exact bytes, in hex, that
; .Connect("cad"), .Publish("cad.status", Map("name", "Müller ✓")), .Connect("cad_lathe", ,
; "cad-secret") and .Subscribe("jobs.*", fn) send on a new client; then the `reply` frames
; that answer requests: .Respond("cad.ping", (*) => "pong"), a Respond callback that throws
; ValueError('job.load needs a "job" field'), and one that returns nothing. Last, the
; `subscribe` a reconnect sends: after .Connect("cad"), .Subscribe("jobs.*", fn),
; .Respond("cad.ping", fn2) and .Close(), the next .Connect("cad") sends `connect` (id 4),
; then this frame with every registered pattern.
; golden-frame: 0000006c7b226a736f6e727063223a22322e30222c226d6574686f64223a22636f6e6e656374222c22706172616d73223a7b22636c69656e745f6964223a22636164222c22636c69656e745f74797065223a2261686b222c2276657273696f6e223a22322e30227d2c226964223a317d {"jsonrpc":"2.0","method":"connect","params":{"client_id":"cad","client_type":"ahk","version":"2.0"},"id":1}
; golden-frame: 0000006d7b226a736f6e727063223a22322e30222c226d6574686f64223a227075626c697368222c22706172616d73223a7b227061796c6f6164223a7b226e616d65223a224dc3bc6c6c657220e29c93227d2c22716f73223a302c22746f706963223a226361642e737461747573227d7d {"jsonrpc":"2.0","method":"publish","params":{"payload":{"name":"Müller ✓"},"qos":0,"topic":"cad.status"}}
; golden-frame: 000000877b226a736f6e727063223a22322e30222c226d6574686f64223a22636f6e6e656374222c22706172616d73223a7b22636c69656e745f6964223a226361645f6c61746865222c22636c69656e745f74797065223a2261686b222c22746f6b656e223a226361642d736563726574222c2276657273696f6e223a22322e30227d2c226964223a317d {"jsonrpc":"2.0","method":"connect","params":{"client_id":"cad_lathe","client_type":"ahk","token":"cad-secret","version":"2.0"},"id":1}
; golden-frame: 0000004e7b226a736f6e727063223a22322e30222c226d6574686f64223a22737562736372696265222c22706172616d73223a7b227061747465726e73223a5b226a6f62732e2a225d7d2c226964223a327d {"jsonrpc":"2.0","method":"subscribe","params":{"patterns":["jobs.*"]},"id":2}
; golden-frame: 0000006f7b226a736f6e727063223a22322e30222c226d6574686f64223a227265706c79222c22706172616d73223a7b227265706c795f746f223a2230623765346331612d356634332d346432652d396331622d336137663265386436633530222c22726573756c74223a22706f6e67227d7d {"jsonrpc":"2.0","method":"reply","params":{"reply_to":"0b7e4c1a-5f43-4d2e-9c1b-3a7f2e8d6c50","result":"pong"}}
; golden-frame: 000000a27b226a736f6e727063223a22322e30222c226d6574686f64223a227265706c79222c22706172616d73223a7b226572726f72223a7b22636f6465223a2d33323630332c226d657373616765223a226a6f622e6c6f6164206e656564732061205c226a6f625c22206669656c64227d2c227265706c795f746f223a2236663164326239652d386133342d346330372d623565322d393163336434613766303138227d7d {"jsonrpc":"2.0","method":"reply","params":{"error":{"code":-32603,"message":"job.load needs a \"job\" field"},"reply_to":"6f1d2b9e-8a34-4c07-b5e2-91c3d4a7f018"}}
; golden-frame: 0000006b7b226a736f6e727063223a22322e30222c226d6574686f64223a227265706c79222c22706172616d73223a7b227265706c795f746f223a2263343261376430352d316539622d346636612d386433632d356230653766326139313634222c22726573756c74223a22227d7d {"jsonrpc":"2.0","method":"reply","params":{"reply_to":"c42a7d05-1e9b-4f6a-8d3c-5b0e7f2a9164","result":""}}
; golden-frame: 000000597b226a736f6e727063223a22322e30222c226d6574686f64223a22737562736372696265222c22706172616d73223a7b227061747465726e73223a5b226a6f62732e2a222c226361642e70696e67225d7d2c226964223a357d {"jsonrpc":"2.0","method":"subscribe","params":{"patterns":["jobs.*","cad.ping"]},"id":5}

#Include BridgeJson.ahk   ; relative to this file

class BrokerClient {
    static WM_SOCKET := 0x9B1D          ; a private (WM_APP range) message for Winsock events
    static MaxFrame := 16 * 1024 * 1024
    static Clients := Map()             ; socket handle -> client, live sockets only
    static _wsa := false

    __New(host := "127.0.0.1", port := 15234) {
        this.Host := host, this.Port := port
        this.OnClose := "", this.Session := "", this.LastError := ""
        this._sock := 0, this._nextId := 0, this._pending := Map(), this._subs := []
        this._buf := Buffer(0x10000), this._len := 0, this._draining := false, this._again := false
        this._queue := [], this._sent := 0, this._sending := false
        ; Two objects, so the one-shot read after a socket message and the safety timer are
        ; separate timers: re-arming one never reschedules the other.
        this._drain := ObjBindMethod(this, "_Drain")
        this._tick := ObjBindMethod(this, "_Drain")
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
        this._sock := s, this._len := 0
        BrokerClient.Clients[s] := this
        ; From now on Winsock posts FD_READ (1) / FD_CLOSE (32) to the script's hidden window,
        ; and the socket is non-blocking.
        if DllCall("ws2_32\WSAAsyncSelect", "Ptr", s, "Ptr", A_ScriptHwnd, "UInt", BrokerClient.WM_SOCKET, "Int", 1 | 32, "Int") != 0 {
            err := DllCall("ws2_32\WSAGetLastError")
            this._Closed(false)
            throw OSError(err, -1, "WSAAsyncSelect")
        }
        SetTimer(this._tick, 1000)
        Persistent()
        params := Map("client_id", clientId, "client_type", clientType, "version", "2.0")
        if token != ""
            params["token"] := token
        this.Rpc("connect", params, ObjBindMethod(this, "_Answered", "connect"))
        ; The broker keeps a session's subscriptions only while it runs, so after a reconnect
        ; the session may have none: every Connect subscribes again to every pattern of _subs,
        ; in one request (the broker takes a pattern it already has as a no-op).
        patterns := this._Patterns()
        if patterns.Length
            this.Rpc("subscribe", Map("patterns", patterns), ObjBindMethod(this, "_Answered", "subscribe"))
        return this
    }

    ; Fire and forget, as the seed's client was: false instead of an error (a dialog, in a
    ; hotkey) when there is no connection or the send fails. Other errors still throw.
    Publish(topic, payload?, qos := 0) {
        if !this._sock
            return false
        try
            this.Rpc("publish", Map("payload", payload ?? BridgeJson.Null, "qos", qos, "topic", topic))
        catch OSError
            return false
        return true
    }

    Subscribe(patterns, callback) {
        this._Watch(patterns, callback, false)
    }

    Respond(patterns, callback) {
        this._Watch(patterns, callback, true)
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

    ; A pattern already registered with the same callback (the same object) and kind is not
    ; added again: a script that subscribes again after a reconnect must not get every
    ; delivery twice. Without a connection the callback is only registered: Connect sends it.
    _Watch(patterns, callback, respond) {
        added := []
        for pattern in (patterns is Array ? patterns : [patterns]) {
            known := false
            for sub in this._subs
                for p in sub.patterns
                    known := known || (p == pattern && sub.respond == respond && sub.callback == callback)
            if !known
                added.Push(pattern)
        }
        if !added.Length
            return
        this._subs.Push({patterns: added, callback: callback, respond: respond})
        if this._sock
            this.Rpc("subscribe", Map("patterns", added), ObjBindMethod(this, "_Answered", "subscribe"))
    }

    ; Every pattern of _subs, each once, in the order they were registered.
    _Patterns() {
        seen := Map(), out := []
        for sub in this._subs
            for pattern in sub.patterns
                if !seen.Has(pattern)
                    seen[pattern] := true, out.Push(pattern)
        return out
    }

    _Send(text) {
        n := StrPut(text, "UTF-8") - 1          ; UTF-8 bytes without the terminator (not StrLen)
        frame := Buffer(4 + n + 1)              ; + 1: StrPut writes a terminating zero
        NumPut("UChar", (n >> 24) & 0xFF, "UChar", (n >> 16) & 0xFF, "UChar", (n >> 8) & 0xFF, "UChar", n & 0xFF, frame)
        StrPut(text, frame.Ptr + 4, n + 1, "UTF-8")
        frame.Size := 4 + n                     ; the zero is not part of the frame
        this._queue.Push(frame)
        ; While another call is sending, this one only appends: that call writes the frame in
        ; turn. The loop takes a frame appended by a thread that ran between the last look at
        ; the queue and the flag going down.
        while !this._sending && this._queue.Length && this._sock {
            this._sending := true
            try
                err := this._Flush()
            finally
                this._sending := false
            ; Closed only now that sending is over, so an OnClose that reconnects can send.
            if err {
                this._Closed(true)              ; part of a frame may be out: the stream is lost
                throw OSError(err, -1, "send")
            }
        }
    }

    ; Writes the queue out; returns 0, or the Winsock error that ends the connection. The
    ; socket and the queue are read again on every turn: while Sleep lets other threads run,
    ; the connection may close (the rest of the queue went with it) or be replaced.
    _Flush() {
        deadline := A_TickCount + 5000
        while this._queue.Length && (s := this._sock) {
            frame := this._queue[1]
            r := DllCall("ws2_32\send", "Ptr", s, "Ptr", frame.Ptr + this._sent, "Int", frame.Size - this._sent, "Int", 0, "Int")
            if r > 0 {
                this._sent += r, deadline := A_TickCount + 5000
                if this._sent = frame.Size
                    this._queue.RemoveAt(1), this._sent := 0
                continue
            }
            err := DllCall("ws2_32\WSAGetLastError")
            if err != 10035 || A_TickCount > deadline   ; 10035 = WSAEWOULDBLOCK: buffer full, retry
                return err
            Sleep(10)
        }
        return 0
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

    ; Winsock event: wParam = socket, low word of lParam = FD_READ or FD_CLOSE. Whichever it
    ; is, only schedule a read (see "Reading" above): a one-shot timer runs _Drain outside the
    ; message handler, and re-arming it while _Drain runs makes it run once more, so no
    ; FD_READ is lost while callbacks run. A stale event costs one empty read.
    static _OnSocket(wParam, lParam) {
        if BrokerClient.Clients.Has(wParam)
            SetTimer(BrokerClient.Clients[wParam]._drain, -1)
    }

    _Drain() {
        ; A callback of the running _Drain let this one start (it slept, or showed a MsgBox):
        ; reading now would deliver later frames before the rest of that batch. That call
        ; reads again when its callbacks are done, as it does for a call that came between
        ; its read and the flag going down.
        if this._draining {
            this._again := true
            return
        }
        loop {
            this._draining := true, this._again := false
            try
                this._Read()
            finally
                this._draining := false
            if !this._again
                return
        }
    }

    _Read() {
        if !(s := this._sock)
            return
        texts := this._Receive(s, &closed)
        for text in texts {
            if this._sock != s                  ; a callback closed the connection, or replaced it
                break
            this._OnFrame(text)
        }
        if closed && this._sock = s
            this._Closed(true)
    }

    ; Reads until Winsock has nothing more, then cuts out every complete frame, before any
    ; callback runs. closed: recv returned 0 (the broker closed), failed with anything but
    ; WSAEWOULDBLOCK (reset), or a header announced an impossible frame.
    _Receive(s, &closed) {
        closed := false
        loop {
            if this._buf.Size < this._len + 0x10000
                this._buf.Size := this._len + 0x10000
            r := DllCall("ws2_32\recv", "Ptr", s, "Ptr", this._buf.Ptr + this._len, "Int", 0x10000, "Int", 0, "Int")
            if r > 0 {
                this._len += r
                continue
            }
            if r = 0 || DllCall("ws2_32\WSAGetLastError") != 10035
                closed := true
            break
        }
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
        return texts
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
        replyTo := params.Get("reply_to", ""), answered := false
        for sub in this._subs {
            if sub.respond && (replyTo == "" || answered)
                continue
            matched := false
            for pattern in sub.patterns
                matched := matched || BrokerClient.Matches(pattern, topic)
            if !matched
                continue
            if !sub.respond {
                try sub.callback.Call(payload, params)
                catch Any as err
                    this._Report(err)
                continue
            }
            answered := true
            try
                answer := Map("reply_to", replyTo, "result", sub.callback.Call(payload, params))
            catch Any as err {
                this._Report(err)
                answer := Map("reply_to", replyTo, "error", Map("code", -32603, "message", BrokerClient._Message(err)))
            }
            try this.Rpc("reply", answer)
            catch Any as err
                this._Report(err)
        }
        if params.Get("qos", 0) = 1 && params.Has("message_id") && this._sock
            this.Rpc("ack", Map("message_id", params["message_id"]))
    }

    _Answered(what, result, error) {
        ; -32000: the connection closed. OnClose says so, and LastError keeps the reason the
        ; broker gave (a refused token), which this would overwrite.
        if IsObject(error) {
            if !(error is Map && error.Get("code", 0) = -32000)
                this._Report(what " failed: " BridgeJson.Dump(error))
        } else if what = "connect"
            this.Session := result
    }

    _Report(problem) {
        this.LastError := problem is Error ? problem.Message : IsObject(problem) ? BridgeJson.Dump(problem) : String(problem)
        try FileAppend("BrokerClient: " this.LastError "`n", "**", "UTF-8")
    }

    static _Message(err) => err is Error ? err.Message : IsObject(err) ? Type(err) : String(err)

    _Closed(notify) {
        s := this._sock
        if !s
            return
        ; Taken out before any callback runs: each is failed exactly once, and requests made
        ; by a callback that reconnects belong to the new connection.
        pending := this._pending
        this._sock := 0, this._len := 0, this._pending := Map(), this._queue := [], this._sent := 0
        try SetTimer(this._drain, 0)
        try SetTimer(this._tick, 0)
        BrokerClient.Clients.Delete(s)
        DllCall("ws2_32\closesocket", "Ptr", s)
        for id, callback in pending {
            try callback.Call("", Map("code", -32000, "message", "connection closed"))
            catch Any as err
                this._Report(err)
        }
        if notify && this.OnClose
            try this.OnClose.Call(this)
    }
}
