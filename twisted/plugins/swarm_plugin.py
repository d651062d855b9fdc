from twisted.application.service import ServiceMaker

swarm = ServiceMaker(
    "swarmd", "swarmd.tap", "Classic Docker Swarm manager and node agent.", "swarm"
)
