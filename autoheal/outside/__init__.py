"""Clients of the services people use besides ADF and Databricks: Jira (tickets) and the HTTP endpoints
of Logic Apps and Functions. Each maps its errors in one place."""
