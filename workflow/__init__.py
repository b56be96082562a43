"""The use-cases the CLI, the API and the RQ jobs share, and the intake lifecycle (``lifecycle``).

Plain functions over the registry, the object store and the services; no HTTP, no RQ: the job
queue is reached through :class:`workflow.jobqueue.JobQueue`, which ``workers.queues`` implements.
"""
