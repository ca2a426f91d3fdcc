"""What runs on a schedule: poll, deliver (the outbox), digest, maintenance.

APScheduler only triggers; the tables decide what is done (leases on sources, outbox rows and job
state; digest runs keyed by subscription and period), so a restart or a second process never
repeats or loses work. Start everything with `jobs.scheduler.start_jobs`.
"""
