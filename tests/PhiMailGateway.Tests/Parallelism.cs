// Fixtures run two at a time (the CI machine has two cores; four at a time made load-sensitive
// tests such as the browser and disk-full ones fail now and then); the tests inside one fixture still run one after another,
// so a fixture's shared gateway, clock or temp folder needs no locking.
//
// A fixture (or test) stays [NonParallelizable] when it touches what the whole process shares;
// NUnit runs those alone, never beside a parallel fixture:
// - environment variables: PHIMAIL_CONFIG (TestConfig.Use, `--config`) and secrets such as
//   Relay__Password are read by every host that is built meanwhile, and inherited by every
//   GatewayProcess started meanwhile;
// - Console.Out: an in-process `serve` installs its console writer for the process;
// - the GC's process-wide counters (GC.GetTotalAllocatedBytes, GC.GetTotalMemory) and
//   wall-clock bounds ("greeted within a second"), which other fixtures' work would distort;
// - a fixed port, or the runner's nice value;
// - the process's open file descriptors (counted by HostFileWatcherTests).
// Gateways themselves are independent: each has its own data directory, free ports, logger
// providers and meter (GatewayMetrics listens to its own Meter instance only).
[assembly: Parallelizable(ParallelScope.Fixtures)]
[assembly: LevelOfParallelism(2)]
