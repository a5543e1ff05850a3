'use strict';
// The compiled addon (node-gyp puts it under build/Release when `npm ci` installs this package).
module.exports = require('./build/Release/secretstream.node');
