from dictate.cli.main import run

run()
