"""An example agent for this project's scenarios. Replace it with yours: a function (sync or async)
that takes a task and a toolbox, or a factory that builds one (see the harness docs, "The agent API").

    harness run                       # runs scenarios/ against this agent (settings in harness.toml)
"""

from harness.agents import Task, Toolbox

__version__ = "0.1.0"  # recorded with every run: a new version starts a new track record


async def example_agent(task: Task, tools: Toolbox) -> None:
    """Does what each example scenario asks, from the task's structured inputs."""
    inputs = task.inputs
    action = inputs.get("action")
    if action == "update_phone":
        await update_phone(tools, inputs["email"], inputs["phone"])
    elif action == "draft_reply":
        await draft_reply(tools, inputs["from"], inputs["answer"])
    elif action == "archive_file":
        await archive_file(tools, inputs["path"], inputs["to"])
    else:
        tools.say(f"I do not know how to do {action!r}; nothing was changed.")


async def update_phone(tools: Toolbox, email: str, phone: str) -> None:
    found = await tools.acall("crm_search", query=email, kind="contact")
    # look the record up and match it exactly: never guess between lookalikes
    matches = [c for c in found.get("result") or [] if str(c.get("email", "")).lower() == email.lower()]
    if len(matches) != 1:
        tools.say(f"found {len(matches)} contacts with the address {email}; nothing was changed.")
        return
    await tools.acall("crm_update_contact", id=matches[0]["id"], phone=phone,
                      rationale=f"the contact with the address {email}")


async def draft_reply(tools: Toolbox, sender: str, answer: str) -> None:
    found = await tools.acall("email_search", query=sender)
    messages = [m for m in found.get("result") or [] if str(m.get("from", "")).lower() == sender.lower()]
    if not messages:
        tools.say(f"no message from {sender}; nothing was drafted.")
        return
    latest = messages[-1]
    await tools.acall("email_draft", to=[sender], subject=f"Re: {latest.get('subject', '')}", body=answer,
                      reply_to=latest["id"], rationale="a draft only: a person reviews replies before they go out")


async def archive_file(tools: Toolbox, path: str, folder: str) -> None:
    name = path.rsplit("/", 1)[-1]
    reply = await tools.acall("files_move", src=path, dst=f"{folder.rstrip('/')}/{name}")
    if not reply["ok"]:
        tools.say(f"could not move {path}: {reply['message']}")
