"""The load and fault suite (issue 13, parts 3 and 4): ``make loadtest``.

Fifty careful bots trade over HTTP against two API servers and two fill watchers sharing one
PostgreSQL, while Redis is restarted, a watcher is killed with SIGKILL and an API worker is killed;
then the run drains and checks that nothing was lost, duplicated or drifted.

- ``processes``: the processes of a run (its own redis-server, API servers, watchers);
- ``bots``: the bots and the market that moves the paper marks;
- ``journal``: every request the bots sent and every answer they got;
- ``suite``: one run (start, load with faults, drain, check);
- ``checks``: the checks, independent of the code they check;
- ``report``: the printed report.
"""
