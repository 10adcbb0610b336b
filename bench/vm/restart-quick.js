'use strict';
// bench/vm/restart.js with one run per datapath (QUICK=1 bash bench/restart.sh): the VM's /init passes no
// environment, so the run count is set here.
process.env.RUNS = '1';
require('./restart');
