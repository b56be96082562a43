"""RQ only: the queues (``queues``) and the job functions (``jobs``) that call ``workflow``."""
