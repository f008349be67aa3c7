# Learn a table and generate 1,000 rows: no config file needed.
synthloom train adult.csv --model-dir adult_model --max-seconds 20
# Writes synthetic.csv and its report, synthetic_report/report.html (and .pdf, .json).
synthloom generate adult_model -n 1000 -o synthetic.csv
