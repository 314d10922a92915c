"""The ``navigator`` command: its parser and dispatch (``main``), the services it runs
(``services``), the client commands that talk to the API over HTTP (``client``,
``search``), the operator's commands against the database (``operator``, ``files``),
the deployment checklist (``validate``), and how a command ends (``outcomes``)."""
