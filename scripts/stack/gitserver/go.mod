module slipway.local/gitserver

go 1.24
