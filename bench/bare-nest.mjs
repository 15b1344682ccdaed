#!/usr/bin/env node
// The framework's ceiling: the smallest Nest 12 + Fastify application, built from the project's own
// installed @nestjs/* packages, with one controller answering GET /hello with {status:'ok'}. No
// modules, guards, pipes, interceptors, filters or logging beyond Nest's defaults (its logger is
// reduced to errors). bench/run.mjs starts it as its own process beside the service and the
// reference, so "service / bare Nest" is what the service's own code costs on top of the framework.
//
//   PORT=3998 node bench/bare-nest.mjs
//
// Plain ESM: the decorators are applied by hand (what `tsc` emits for `@Controller()` / `@Get()`).
import 'reflect-metadata';
import { Controller, Get, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';

class HelloController {
  hello() {
    return { status: 'ok' };
  }
}
Get('hello')(HelloController.prototype, 'hello', Object.getOwnPropertyDescriptor(HelloController.prototype, 'hello'));
Controller()(HelloController);

class BareModule {}
Module({ controllers: [HelloController] })(BareModule);

const port = Number(process.env.PORT ?? 3998);
const host = process.env.HOST ?? '127.0.0.1';
const app = await NestFactory.create(BareModule, new FastifyAdapter(), { logger: ['error'] });
app.enableShutdownHooks();
await app.listen(port, host);
console.log(`bare Nest on ${host}:${port}`);
