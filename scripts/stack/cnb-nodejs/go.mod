module slipway.local/cnb-nodejs

go 1.24
