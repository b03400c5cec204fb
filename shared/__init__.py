"""The library every salesflow service uses: settings, Avro codec, topics, Faust app factory,
logging, metrics, health, dead letters and Redis. It never imports `services`."""
