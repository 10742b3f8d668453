.PHONY: run test
run:  ## install what is missing and run the whole product with a demo login
	scripts/run.sh
test:  ## run the whole test suite against real PostgreSQL, Redis and Chromium
	scripts/test.sh
