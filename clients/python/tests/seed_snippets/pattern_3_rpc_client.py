# Client requesting status
response = await client.request(
    topic="scripts.status",
    payload={"script_id": "saw1"},
    timeout=5.0,
)
print(f"Script running: {response.get('running')}")
