# Service handling request
async def handle_status_request(msg: Message):
    script_id = msg.payload.get("script_id")
    
    # Check status
    running = script_id in self._running_scripts
    
    # Reply (broker handles routing)
    return {"running": running, "pid": self._running_scripts.get(script_id)}
