# Script runner (publisher)
async def run_script(script_id: str):
    await self._broker.publish(f"scripts.{script_id}.started", {
        "pid": process.pid,
        "timestamp": datetime.now().isoformat(),
    })
    
    await process.wait()
    
    await self._broker.publish(f"scripts.{script_id}.stopped", {
        "exit_code": process.returncode,
    })


# Status monitor (subscriber)
await client.subscribe(["scripts.+.started", "scripts.+.stopped"], handler)
