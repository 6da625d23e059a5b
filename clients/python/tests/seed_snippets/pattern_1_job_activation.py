# ds_pas (publisher)
async def activate_job(job_id: str):
    # Update local state
    self._active_job = job_id
    
    # Write to INI file for AHK
    self._write_active_job_ini(job_id)
    
    # Publish to broker
    await self._broker.publish("jobs.activated", {
        "job_id": job_id,
        "job_number": "ABC123",
        "customer": "Acme Corp",
        "timestamp": datetime.now().isoformat(),
    })


# ahk_manager (subscriber)
async def on_message(msg: Message):
    if msg.topic == "jobs.activated":
        job_id = msg.payload.get("job_id")
        self._update_ui(job_id)
