"""The app code the seed's test_job_controller.py tests (the seed does not show it): the
smallest JobController that publishes as the test expects."""


class JobController:
    def __init__(self, broker_client):
        self._broker = broker_client

    async def activate_job(self, job_id: str) -> None:
        await self._broker.publish("jobs.activated", {"job_id": job_id})
