"""Drive: start the database, the servers and the stub, run Locust over the matrix, write the run."""
