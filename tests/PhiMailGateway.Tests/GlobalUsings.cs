global using NUnit.Framework;
global using PhiMailGateway.Storage.Sqlite;
global using PhiMailGateway.Storage.Sql;
