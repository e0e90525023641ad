"""The agent bench_isolation.py times: ``calls`` CRM reads per run (a factory: -a calls=N)."""


def build(calls: str = "0"):
    n = int(calls)

    def agent(task, tools):
        for _ in range(n):
            tools.call("crm_get", kind="deal", id="west-renewal")

    return agent
