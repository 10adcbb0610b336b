/** remote.test.ts's worker script: crashing-worker.ts, loaded through the TypeScript hook. */
'use strict';
require('../../helpers/ts-worker').register();
require('./crashing-worker.ts');
