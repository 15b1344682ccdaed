import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { AppModule } from './app.module.js';
import { APP_OPTIONS, configureApp, createAdapter, startListening } from './bootstrap.js';
import { ConfigValidationError, loadConfig } from './config/app-config.js';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigValidationError) {
      process.stderr.write(`${JSON.stringify({ level: 'fatal', message: err.message, problems: err.problems })}\n`);
      process.exit(1);
    }
    throw err;
  }
  const app = await NestFactory.create<NestFastifyApplication>(
    AppModule.forRoot(process.env, config),
    createAdapter(config.http),
    APP_OPTIONS,
  );
  configureApp(app);
  await startListening(app, config.http);
  // event consumers start once the app is initialised (never waits for NATS: it connects in the background)
  await app.startAllMicroservices();
}

// `--compile-cache-only` (dist/bundle/main.mjs, the image's build): every module loaded, nothing started
if (!process.argv.includes('--compile-cache-only')) void main();
