#Requires AutoHotkey v2.0
; cad_hotkeys.ahk - example script for `bridge run scripts/cad_hotkeys.ahk --key cad`.
;
; What it shows:
;   - hotkeys that publish events       F1 -> scripts.cad.hotkey.pressed {"key":"F1"}
;                                       F2 -> jobs.requested (an absolute topic)
;   - commands with replies             scripts.cad.command.ping      -> "pong"
;                                       scripts.cad.command.job.load  -> {"job":..,"loaded":true}
;   - a command that reports an error   job.load without a "job" field
;   - Bridge.Ready() once everything is registered.
; Try it from another terminal:
;   bridge request scripts.cad.command.job.load '{"job":"A-100"}'
;   bridge sub 'scripts.cad.#'
;
; Lines starting with ";@fake" are comments to AutoHotkey. The fake interpreter used by
; the Linux demo and tests (no AutoHotkey there) reads them to imitate this script: here,
; every 1500 ms it prints the @pub line F1 would produce, and it answers ping and job.load
; the way the handlers below do for the demo's requests.
;@fake every 1500 pub hotkey.pressed {"key":"F1","simulated":true}
;@fake on ping reply "pong"
;@fake on job.load reply {"job":"A-100","loaded":true}

#SingleInstance Force
#Include lib\Bridge.ahk

currentJob := ""

; Register the commands first: the first Bridge call also installs the error handler.
Bridge.On("ping", (*) => "pong")
Bridge.On("job.load", JobLoad)
Bridge.On("job.current", (*) => currentJob)
Bridge.Ready()

; #HotIf WinActive("ahk_exe acad.exe")   ; uncomment to limit the hotkeys to the CAD window
F1::Bridge.Publish("hotkey.pressed", Map("key", "F1"))
F2::RequestJob()
; #HotIf

; job.load {"job": "A-100"}: remember the job, show it, answer with what was loaded.
JobLoad(payload, cmd) {
    global currentJob
    if !(payload is Map) || !payload.Has("job")
        throw ValueError('job.load needs a "job" field')   ; -> @error <id> <message>
    currentJob := payload["job"]
    ToolTip("Job " currentJob " loaded")
    SetTimer(() => ToolTip(), -2000)
    return Map("job", currentJob, "loaded", Bridge.True)   ; -> @reply <id> <json>
}

; Ask whoever manages jobs (not this script) for the job under the cursor's drawing.
RequestJob() {
    title := WinExist("A") ? WinGetTitle("A") : ""
    Bridge.Publish("/jobs.requested", Map("source", "cad", "window", title))
}
