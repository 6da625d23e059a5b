from message_broker import BrokerConfig

config = BrokerConfig(
    # Network
    host="localhost",
    port=PORT,
    
    # Connections
    max_connections=100,
    connection_timeout=30.0,
    
    # Messages
    max_message_size=1024 * 1024,  # 1 MB
    max_queue_size=10000,
    
    # Health
    heartbeat_interval=5.0,
    heartbeat_timeout=30.0,
    
    # Persistence (optional)
    persistence_enabled=False,
    persistence_path=None,
    
    # Logging
    log_level="INFO",
    log_messages=False,  # Log all messages (verbose)
)
