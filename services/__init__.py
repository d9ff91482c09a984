"""Domain operations shared by the phone API, the admin site and the CLI.

Who commits (one request, one transaction):
- A public service function is one unit of work: it checks, writes and commits it (and audits it in the
  same transaction). Its docstring says so when it is deliberately more than one (e.g. bulk_approve, one
  per visit) or when it must roll back itself (a lost race it recovers from, a dry run).
- Private helpers, and the few public helpers whose docstring says "in the caller's transaction"
  (record_audit, workflow.transition, revoke_all_tokens, add_token, ensure_service_point), only add and
  flush; they never commit or roll back.
- Views and CLI commands never commit or roll back: they call one service function. A refusal
  (services.errors.ServiceError) leaves its uncommitted work to be discarded when the request ends
  (factory.py); the admin's call_service helper also ends it before re-rendering a refused form.

Who may do what is decided in services.permissions only; refusals carry a stable code and parameters
(services.errors), and the words are chosen at the edge (the API's Chinese message, the admin's catalogs).

Areas: visits/ (submission, review, workflow, authenticity), photos/ (pipeline, intake, prune, delivery),
registry/ (people, stations, fields, imports, search), reporting/ (schedules, coverage, dashboard, reports,
exports), accounts/ (users, credentials, wechat); beside them permissions, audit, errors, storage, geo,
localtime.
"""
