# DO - use Qt client
self._broker = QtBrokerClient("app")
self._broker.connect_to_broker()  # Non-blocking
