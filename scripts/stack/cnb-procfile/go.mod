module slipway.local/cnb-procfile

go 1.24
