"""Use case: is the service able to serve?"""

from analytics.application.ports import StorageHealth


class CheckHealth:
    def __init__(self, storage: StorageHealth) -> None:
        self._storage = storage

    def execute(self) -> bool:
        return self._storage.is_available()
