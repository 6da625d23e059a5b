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
;       backslashes, DEL and every control character from U+0000 on are escaped (\n \r \t,
;       else \u00XX), so the text never holds a line break or a NUL. An unpaired surrogate
;       (U+D800-U+DFFF without its other half), which UTF-8 cannot hold, is written \udXXX.
;       Keys come out in AutoHotkey's enumeration order (Map and Object keys are kept sorted).
;   BridgeJson.Load(text)   -> value
;       object -> Map (case-sensitive keys), array -> Array, string -> String (\uXXXX and
;       surrogate pairs decoded), true -> 1, false -> 0, null -> "", number -> Integer when it
;       is a whole number within the int64 range, otherwise Float: an integer past that range
;       becomes the nearest Float, never a different Integer.
;       Throws ValueError on malformed JSON.
;
; Golden examples (checked by test/unit/ahk-json-golden.test.ts): the JSON on the left, as
; BridgeJson.Dump(BridgeJson.Load(<it>)) writes it. A Float is written the way AutoHotkey v2
; turns it into text (FTOA in its source/util.cpp): printf "%.17g", that is 17 significant
; digits, exponent form from e+17 on, trailing zeros dropped, and ".0" added when that leaves
; neither "." nor "e". 17 digits always read back as the same double, so the reader gets
; exactly the Float that was loaded: 2^63 is written 9.2233720368547758e+18, not in the
; shortest form JavaScript would use (9223372036854776000, which is also how the bridge and
; the broker, both JavaScript, pass 2^63 on).
; golden-json: 9223372036854775807 => 9223372036854775807
; golden-json: -9223372036854775808 => -9223372036854775808
; golden-json: 9223372036854775808 => 9.2233720368547758e+18
; golden-json: 9223372036854776000 => 9.2233720368547758e+18
; golden-json: 18446744073709551616 => 1.8446744073709552e+19
; golden-json: -9223372036854775809 => -9.2233720368547758e+18
; golden-json: 123456789012345678901234567890 => 1.2345678901234568e+29
;   The first character is a NUL, and a quote follows it: StrReplace would stop there.
; golden-json: "\u0000\" nul, soh\u0001 us\u001f del\u007f bs\b ff\f nl\n cr\r tab\t backslash\\" => "\u0000\" nul, soh\u0001 us\u001f del\u007f bs\u0008 ff\u000c nl\n cr\r tab\t backslash\\"
; golden-json: {"nul":["a\u0000b"]} => {"nul":["a\u0000b"]}
;   Floats keep all 17 digits, so 0.1 comes back as the double it is; a whole Float gets ".0".
; golden-json: [1.5,0.1,1e3] => [1.5,0.10000000000000001,1000.0]
; golden-json: {"Stra\u00dfe":"M\u00fcller \u2713 \ud83d\ude00"} => {"Straße":"Müller ✓ 😀"}
;   Unpaired surrogates stay escapes (written as they are, they would reach the reader as
;   U+FFFD); a pair is one character. One follows an escaped quote, one ends the string.
; golden-json: "high \ud800 low \udc00 pair \ud83d\ude00 \"\udfff end \udbff" => "high \ud800 low \udc00 pair 😀 \"\udfff end \udbff"

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

    ; A JSON string literal for s. One pass of RegExMatch, which sees the whole string, instead
    ; of StrReplace, which stops at the first binary zero (Chr(0), from a "\u0000" escape):
    ; a quote after it would be left bare.
    ; An unpaired surrogate (U+D800-U+DFFF, e.g. from a "\ud800" escape) is written as a
    ; \uXXXX escape: as it is, UTF-8 cannot hold it and it would arrive as U+FFFD. The check is
    ; one WideCharToMultiByte call that fails on such a character (WC_ERR_INVALID_CHARS); only
    ; then does the slower _Unpaired look at each character.
    static Quote(s) {
        if s is String && s != "" && !DllCall("kernel32\WideCharToMultiByte", "UInt", 65001, "UInt", 0x80
            , "Ptr", StrPtr(s), "Int", StrLen(s), "Ptr", 0, "Int", 0, "Ptr", 0, "Ptr", 0, "Int")
            return '"' this._Unpaired(s) '"'
        return '"' this._Escape(s) '"'
    }

    static _Escape(s) {
        out := "", pos := 1
        while RegExMatch(s, '["\\\x00-\x1F\x7F]', &m, pos) {
            out .= SubStr(s, pos, m.Pos - pos), c := m[0], pos := m.Pos + 1
            switch c {
                case '"', "\": out .= "\" c
                case "`n": out .= "\n"
                case "`r": out .= "\r"
                case "`t": out .= "\t"
                default: out .= Format("\u{:04x}", Ord(c))
            }
        }
        return out SubStr(s, pos)
    }

    ; _Escape for a string that holds an unpaired surrogate: each one becomes \uXXXX, and the
    ; parts between them, which hold none (PCRE cannot search from one), go through _Escape.
    static _Unpaired(s) {
        out := "", start := 1, i := 1, n := StrLen(s)
        while i <= n {
            u := Ord(SubStr(s, i, 1))           ; one UTF-16 code unit
            if u < 0xD800 || u > 0xDFFF {
                i += 1
                continue
            }
            if u <= 0xDBFF && i < n && (Ord(SubStr(s, i + 1, 1)) & 0xFC00) = 0xDC00 {
                i += 2                          ; a pair: one character, kept as it is
                continue
            }
            out .= this._Escape(SubStr(s, start, i - start)) Format("\u{:04x}", u)
            i += 1, start := i
        }
        return out this._Escape(SubStr(s, start))
    }

    ; The text is passed on by reference (&t) to every helper: AutoHotkey v2 copies a string
    ; into each by-value parameter, so passing it by value would copy the whole text on every
    ; call, thousands of times for a large message.
    static Load(text) {
        pos := 1
        value := this._Value(&text, &pos)
        if this._Skip(&text, &pos) != ""
            throw ValueError("JSON: unexpected text after the value", -1, "at " pos)
        return value
    }

    ; Skip whitespace; return the character at pos (not consumed), "" at the end.
    static _Skip(&t, &p) {
        while (c := SubStr(t, p, 1)) != "" && InStr(" `t`r`n", c)
            p += 1
        return c
    }

    static _Value(&t, &p) {
        c := this._Skip(&t, &p), start := p, p += 1
        if c == "{" || c == "[" {
            isObj := c == "{", out := isObj ? Map() : []
            if this._Skip(&t, &p) == (isObj ? "}" : "]") {
                p += 1
                return out
            }
            loop {
                if isObj {
                    if this._Skip(&t, &p) != '"'
                        throw ValueError("JSON: expected a string key", -1, "at " p)
                    p += 1, key := this._String(&t, &p)
                    if this._Skip(&t, &p) != ":"
                        throw ValueError("JSON: expected ':'", -1, "at " p)
                    p += 1, out[key] := this._Value(&t, &p)
                } else
                    out.Push(this._Value(&t, &p))
                c := this._Skip(&t, &p), p += 1
                if c == (isObj ? "}" : "]")
                    return out
                if c != ","
                    throw ValueError("JSON: expected ',' or a closing bracket", -1, "at " (p - 1))
            }
        }
        if c == '"'
            return this._String(&t, &p)
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
        if num ~= "[.eE]"
            return Float(RegExReplace(num, "^(-?\d+)([eE])", "$1.0$2"))  ; "1e5" -> "1.0e5"
        ; Integer() wraps past the int64 range (9223372036854775808 would load negative,
        ; 18446744073709551616 as 0), and a wrong number is worse than an inexact one. So the
        ; digits decide, compared as text: any numeric comparison would convert them first, and
        ; wrap the same way. JSON has no leading zeros, so a longer digit string is a larger
        ; number, and equal lengths compare like numbers.
        digits := LTrim(num, "-"), limit := digits == num ? "9223372036854775807" : "9223372036854775808"
        if StrLen(digits) < 19 || (StrLen(digits) = 19 && StrCompare(digits, limit) <= 0)
            return Integer(num)
        return Float(num)
    }

    ; Parse a string body; p is just after the opening quote.
    static _String(&t, &p) {
        out := ""
        loop {
            ; PCRE refuses to start a search on the second half of a surrogate pair: an unpaired
            ; one here (only in malformed text) is taken as it is, as InStr did before.
            while (Ord(SubStr(t, p, 1)) & 0xFC00) = 0xDC00
                out .= SubStr(t, p, 1), p += 1
            ; One search for whichever of '"' and '\' comes first: two InStr calls would each
            ; scan on to the end of the text when there is none of their character left.
            if !(b := RegExMatch(t, '["\\]', , p))
                throw ValueError("JSON: unterminated string", -1, "at " p)
            out .= SubStr(t, p, b - p)
            if SubStr(t, b, 1) == '"' {
                p := b + 1
                return out
            }
            e := SubStr(t, b + 1, 1), p := b + 2
            switch e, true {
                case '"', "\", "/": out .= e
                case "n": out .= "`n"
                case "r": out .= "`r"
                case "t": out .= "`t"
                case "b": out .= "`b"
                case "f": out .= "`f"
                case "u":
                    cp := this._Hex4(&t, p), p += 4
                    ; A surrogate pair written as two escapes becomes one character.
                    if cp >= 0xD800 && cp <= 0xDBFF && SubStr(t, p, 2) == "\u"
                        && (lo := this._Hex4(&t, p + 2)) >= 0xDC00 && lo <= 0xDFFF
                        cp := 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00), p += 6
                    out .= Chr(cp)
                default: throw ValueError("JSON: bad escape \" e, -1, "at " (p - 2))
            }
        }
    }

    static _Hex4(&t, p) {
        hex := SubStr(t, p, 4)
        if !(hex ~= "^[0-9A-Fa-f]{4}$")
            throw ValueError("JSON: bad \u escape", -1, "at " p)
        return Integer("0x" hex)
    }
}
