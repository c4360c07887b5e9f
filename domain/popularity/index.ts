export {
  POPULAR_BUILT_KEY,
  POPULAR_KEY,
  rebuildPopularity,
  scoresFromPostgres,
  topFromPostgres,
  topProducts,
  updatePopularity,
  WINDOW_DAYS,
} from "./ranking";
