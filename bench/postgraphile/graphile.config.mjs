// PostGraphile 5 as bench/side-by-side.sh serves it: the stock "amber" preset over the
// `public` schema of the benchmark's database (DATABASE_URL), on 127.0.0.1:PORT, production
// settings (no GraphiQL, no explain, no watch mode), its default pool (node-postgres, 10).
import { PostGraphileAmberPreset } from "postgraphile/presets/amber";
import { makePgService } from "postgraphile/adaptors/pg";

/** @type {GraphileConfig.Preset} */
const preset = {
  extends: [PostGraphileAmberPreset],
  pgServices: [
    makePgService({
      connectionString: process.env.DATABASE_URL,
      schemas: ["public"],
    }),
  ],
  grafserv: {
    host: "127.0.0.1",
    port: Number(process.env.PORT ?? 5678),
    graphiql: false,
    watch: false,
  },
  grafast: {
    explain: false,
  },
};

export default preset;
