export { POPULAR_BUILT_KEY, POPULAR_KEY, WINDOW_DAYS, rebuildPopularity, scoresFromPostgres, topFromPostgres, topProducts, updatePopularity } from "./ranking";
