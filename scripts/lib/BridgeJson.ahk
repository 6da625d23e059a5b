#Requires AutoHotkey v2.0
; BridgeJson.ahk - the small JSON encoder/parser shared by Bridge.ahk and BrokerClient.ahk.
; The class is not called "JSON" so that it cannot clash with a JSON library the script
; already includes.
;
;   BridgeJson.Dump(value)  -> JSON text on one line
;       Map -> object, Array -> array, plain Object {a: 1} -> object (own properties),
;       Integer/Float -> number (NaN/inf -> null), String -> string (always a string, even "42"),
;       BridgeJson.True / .False / .Null -> true / false / null.
;       AutoHotkey has no boolean type (true is 1), so use the sentinels for JSON booleans.
;       Non-ASCII characters are written as they are (the caller writes UTF-8); quotes,
;       backslashes and every control character are escaped, so the text never holds a line break.
;       Keys come out in AutoHotkey's enumeration order (Map and Object keys are kept sorted).
;   BridgeJson.Load(text)   -> value
;       object -> Map (case-sensitive keys), array -> Array, string -> String (\uXXXX and
;       surrogate pairs decoded), number -> Integer or Float, true -> 1, false -> 0, null -> "".
;       Throws ValueError on malformed JSON.

class BridgeJson {
    static True := {}
    static False := {}
    static Null := {}

    static Dump(v) {
        if IsObject(v) {
            ; The sentinels are compared by identity (their addresses).
            switch ObjPtr(v) {
                case ObjPtr(BridgeJson.True): return "true"
                case ObjPtr(BridgeJson.False): return "false"
                case ObjPtr(BridgeJson.Null): return "null"
            }
            out := ""
            if v is Array {
                for item in v
                    out .= "," this.Dump(item ?? BridgeJson.Null)
                return "[" SubStr(out, 2) "]"
            }
            for key, item in (v is Map ? v : v.OwnProps())
                out .= "," this.Quote(String(key)) ":" this.Dump(item)
            return "{" SubStr(out, 2) "}"
        }
        if v is Integer
            return String(v)
        if v is Float {
            s := String(v)
            return s ~= "^-?\d+(\.\d+)?([eE][-+]?\d+)?$" ? s : "null"
        }
        return this.Quote(v)
    }

    ; A JSON string literal for s.
    static Quote(s) {
        s := StrReplace(StrReplace(s, "\", "\\"), '"', '\"')
        s := StrReplace(StrReplace(StrReplace(s, "`n", "\n"), "`r", "\r"), "`t", "\t")
        while RegExMatch(s, "[\x01-\x1F\x7F]", &m)
            s := StrReplace(s, m[0], Format("\u{:04x}", Ord(m[0])))
        return '"' s '"'
    }

    static Load(text) {
        pos := 1
        value := this._Value(text, &pos)
        if this._Skip(text, &pos) != ""
            throw ValueError("JSON: unexpected text after the value", -1, "at " pos)
        return value
    }

    ; Skip whitespace; return the character at pos (not consumed), "" at the end.
    static _Skip(t, &p) {
        while (c := SubStr(t, p, 1)) != "" && InStr(" `t`r`n", c)
            p += 1
        return c
    }

    static _Value(t, &p) {
        c := this._Skip(t, &p), start := p, p += 1
        if c == "{" || c == "[" {
            isObj := c == "{", out := isObj ? Map() : []
            if this._Skip(t, &p) == (isObj ? "}" : "]") {
                p += 1
                return out
            }
            loop {
                if isObj {
                    if this._Skip(t, &p) != '"'
                        throw ValueError("JSON: expected a string key", -1, "at " p)
                    p += 1, key := this._String(t, &p)
                    if this._Skip(t, &p) != ":"
                        throw ValueError("JSON: expected ':'", -1, "at " p)
                    p += 1, out[key] := this._Value(t, &p)
                } else
                    out.Push(this._Value(t, &p))
                c := this._Skip(t, &p), p += 1
                if c == (isObj ? "}" : "]")
                    return out
                if c != ","
                    throw ValueError("JSON: expected ',' or a closing bracket", -1, "at " (p - 1))
            }
        }
        if c == '"'
            return this._String(t, &p)
        for word, value in Map("true", 1, "false", 0, "null", "") {
            if SubStr(t, start, StrLen(word)) == word {
                p := start + StrLen(word)
                return value
            }
        }
        while (d := SubStr(t, p, 1)) != "" && InStr("+-.0123456789eE", d, true)
            p += 1
        num := SubStr(t, start, p - start)
        if !(num ~= "^-?(0|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)?$")
            throw ValueError("JSON: unexpected character", -1, "at " start)
        if !(num ~= "[.eE]")
            return Integer(num)
        return Float(RegExReplace(num, "^(-?\d+)([eE])", "$1.0$2"))  ; "1e5" -> "1.0e5"
    }

    ; Parse a string body; p is just after the opening quote.
    static _String(t, &p) {
        out := ""
        loop {
            q := InStr(t, '"', true, p), b := InStr(t, "\", true, p)
            if !q
                throw ValueError("JSON: unterminated string", -1, "at " p)
            if !b || q < b {
                out .= SubStr(t, p, q - p)
                p := q + 1
                return out
            }
            out .= SubStr(t, p, b - p), e := SubStr(t, b + 1, 1), p := b + 2
            switch e, true {
                case '"', "\", "/": out .= e
                case "n": out .= "`n"
                case "r": out .= "`r"
                case "t": out .= "`t"
                case "b": out .= "`b"
                case "f": out .= "`f"
                case "u":
                    cp := this._Hex4(t, p), p += 4
                    ; A surrogate pair written as two escapes becomes one character.
                    if cp >= 0xD800 && cp <= 0xDBFF && SubStr(t, p, 2) == "\u"
                        && (lo := this._Hex4(t, p + 2)) >= 0xDC00 && lo <= 0xDFFF
                        cp := 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00), p += 6
                    out .= Chr(cp)
                default: throw ValueError("JSON: bad escape \" e, -1, "at " (p - 2))
            }
        }
    }

    static _Hex4(t, p) {
        hex := SubStr(t, p, 4)
        if !(hex ~= "^[0-9A-Fa-f]{4}$")
            throw ValueError("JSON: bad \u escape", -1, "at " p)
        return Integer("0x" hex)
    }
}
