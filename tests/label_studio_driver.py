"""Drives a Label Studio server through label-studio-sdk; runs in the Label Studio venv.

Reads a JSON plan on stdin, prints a JSON result on stdout. The plan:

    base_url, admin_token        the server and its admin's legacy token
    title, label_config          the project to create (webweave's exported config)
    tasks                        webweave's exported tasks ({"data": {...}} each)
    storage_path                 a folder to register as local-files storage (or null)
    users                        rater e-mails: each signs up over HTTP and gets its own token
    annotations                  [{"item_id", "user", "result"}]: posted with that user's token
    fetch                        item ids whose image URLs are fetched back (bytes checked)

The result: project id, task ids by item id, user ids by e-mail, sha256 of fetched images by
URL, and the project's JSON export (``exportType=JSON``, all tasks) as Label Studio writes it.
"""

from __future__ import annotations

import hashlib
import json
import sys

import requests
from label_studio_sdk import LabelStudio


def sign_up(base_url: str, email: str, password: str) -> str:
    """A new user through the signup form (CSRF cookie + Referer); returns their API token."""
    session = requests.Session()
    session.trust_env = False
    session.get(f"{base_url}/user/signup/", timeout=30).raise_for_status()
    form = {
        "email": email,
        "password": password,
        "csrfmiddlewaretoken": session.cookies["csrftoken"],
    }
    response = session.post(
        f"{base_url}/user/signup/",
        data=form,
        headers={"Referer": f"{base_url}/user/signup/"},
        allow_redirects=False,
        timeout=30,
    )
    if response.status_code not in (301, 302):
        raise RuntimeError(
            f"signup of {email} failed: {response.status_code} {response.text[:300]}"
        )
    token = session.get(f"{base_url}/api/current-user/token", timeout=30)
    token.raise_for_status()
    return token.json()["token"]


def main() -> None:
    plan = json.load(sys.stdin)
    base = plan["base_url"]
    admin = LabelStudio(base_url=base, api_key=plan["admin_token"])
    project = admin.projects.create(title=plan["title"], label_config=plan["label_config"])
    if plan.get("storage_path"):
        admin.import_storage.local.create(
            project=project.id, path=plan["storage_path"], title="webweave"
        )
    imported = admin.projects.import_tasks(
        id=project.id, request=plan["tasks"], return_task_ids=True
    )
    task_ids = {
        task["data"]["item_id"]: task_id
        for task, task_id in zip(plan["tasks"], imported.task_ids, strict=True)
    }
    clients, user_ids = {}, {}
    for email in plan["users"]:
        client = LabelStudio(base_url=base, api_key=sign_up(base, email, "rater-Pass-123"))
        clients[email] = client
        user_ids[email] = client.users.whoami().id
    for annotation in plan["annotations"]:
        clients[annotation["user"]].annotations.create(
            id=task_ids[annotation["item_id"]], result=annotation["result"], lead_time=2.5
        )
    fetched = {}
    session = requests.Session()
    session.trust_env = False
    for item_id in plan.get("fetch", []):
        data = next(t["data"] for t in plan["tasks"] if t["data"]["item_id"] == item_id)
        for key in ("ref", "left", "right"):
            url = data[key]
            response = session.get(
                base + url, headers={"Authorization": f"Token {plan['admin_token']}"}, timeout=30
            )
            response.raise_for_status()
            fetched[url] = hashlib.sha256(response.content).hexdigest()
    export = b"".join(
        admin.projects.exports.download_sync(
            id=project.id, export_type="JSON", download_all_tasks=True
        )
    )
    json.dump(
        {
            "project_id": project.id,
            "task_ids": task_ids,
            "user_ids": user_ids,
            "fetched": fetched,
            "export": json.loads(export),
        },
        sys.stdout,
    )


if __name__ == "__main__":
    main()
