module slipway.local/sample-app

go 1.24
