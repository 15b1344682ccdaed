import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { loadConfig } from './src/config/app-config.js';
import { buildDataSourceOptions } from './src/database/data-source.options.js';

/** The TypeORM CLI's data source (npm run migration:run | migration:revert | migration:generate). */
export default new DataSource(buildDataSourceOptions(loadConfig(process.env)));
