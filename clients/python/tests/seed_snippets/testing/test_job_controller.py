from job_controller import JobController


# tests/test_job_controller.py
async def test_activate_job_publishes_event(mock_broker_client):
    controller = JobController(broker_client=mock_broker_client)
    
    await controller.activate_job("job-123")
    
    mock_broker_client.publish.assert_called_once_with(
        "jobs.activated",
        {"job_id": "job-123"},
    )
