module slipway.local/probe

go 1.24
