module slipway.local/pause

go 1.24
