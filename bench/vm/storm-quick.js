'use strict';
// bench/vm/storm.js with one run of 2 s windows per case (QUICK=1 bash bench/storm.sh): the VM's /init passes no
// environment, so the figures are set here.
process.env.RUNS = '1';
process.env.WIN = '2';
require('./storm');
