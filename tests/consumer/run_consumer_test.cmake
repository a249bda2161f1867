# placeholder replaced by the consumer-project test
